"""WeCom's response shapes, as far as Huike reads them (unknown fields are ignored)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WeComModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Tag(WeComModel):
    group_name: str = ""
    tag_name: str = ""
    type: int = 1
    tag_id: str | None = None


class FollowUser(WeComModel):
    userid: str
    remark: str = ""
    description: str = ""
    createtime: int = 0
    tags: list[Tag] = Field(default_factory=list)
    remark_corp_name: str = ""
    remark_mobiles: list[str] = Field(default_factory=list)
    add_way: int = 0
    oper_userid: str = ""
    state: str = ""


class FollowInfo(WeComModel):
    userid: str
    remark: str = ""
    description: str = ""
    createtime: int = 0
    tag_id: list[str] = Field(default_factory=list)
    remark_corp_name: str = ""
    remark_mobiles: list[str] = Field(default_factory=list)
    add_way: int = 0
    oper_userid: str = ""
    state: str = ""


class ExternalContact(WeComModel):
    external_userid: str
    name: str = ""
    avatar: str = ""
    type: int = 1
    gender: int = 0
    unionid: str = ""
    position: str = ""
    corp_name: str = ""
    corp_full_name: str = ""


class ExternalContactDetail(WeComModel):
    external_contact: ExternalContact
    follow_user: list[FollowUser] = Field(default_factory=list)
    next_cursor: str = ""


class ExternalContactWithFollow(WeComModel):
    external_contact: ExternalContact
    follow_info: FollowInfo


class ExternalContactPage(WeComModel):
    external_contact_list: list[ExternalContactWithFollow] = Field(default_factory=list)
    next_cursor: str = ""


class CorpTag(WeComModel):
    id: str
    name: str
    create_time: int = 0
    order: int = 0
    deleted: bool = False


class CorpTagGroup(WeComModel):
    group_id: str
    group_name: str
    create_time: int = 0
    order: int = 0
    deleted: bool = False
    tag: list[CorpTag] = Field(default_factory=list)


class GroupChatListItem(WeComModel):
    chat_id: str
    status: int = 0


class GroupChatPage(WeComModel):
    group_chat_list: list[GroupChatListItem] = Field(default_factory=list)
    next_cursor: str = ""


class GroupMember(WeComModel):
    userid: str
    type: int = 1
    unionid: str = ""
    join_time: int = 0
    join_scene: int = 0
    invitor: dict[str, str] = Field(default_factory=dict)
    group_nickname: str = ""
    name: str = ""


class GroupChat(WeComModel):
    chat_id: str
    name: str = ""
    owner: str = ""
    create_time: int = 0
    notice: str = ""
    member_list: list[GroupMember] = Field(default_factory=list)
    admin_list: list[dict[str, str]] = Field(default_factory=list)
    member_version: str = ""


class Department(WeComModel):
    id: int
    parentid: int = 0
    order: int = 0
    name: str = ""


class MemberRef(WeComModel):
    userid: str
    department: int = 0


class MemberIdPage(WeComModel):
    dept_user: list[MemberRef] = Field(default_factory=list)
    next_cursor: str = ""


class Member(WeComModel):
    userid: str
    name: str = ""
    department: list[int] = Field(default_factory=list)
    main_department: int | None = None
    position: str = ""
    status: int = 1
    avatar: str = ""
    gender: str = "0"


class LoginIdentity(WeComModel):
    userid: str = Field("", alias="userid")
    user_ticket: str = ""
    openid: str = ""
    external_userid: str = ""
