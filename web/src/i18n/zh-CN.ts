/**
 * Simplified Chinese messages: the default and fallback locale.
 * `en.ts` must provide every key of this file (enforced by the `Messages` type).
 */
const zhCN = {
  app: {
    name: '汇客',
    tagline: '私域客户运营平台',
    documentTitle: '汇客 · 私域客户运营平台',
  },
  common: {
    language: '语言',
    collapseMenu: '收起菜单',
    expandMenu: '展开菜单',
    refresh: '刷新',
    loading: '加载中…',
    noData: '暂无数据',
    details: '详情',
    close: '关闭',
    backHome: '返回工作台',
    unknownError: '请求失败，请稍后重试。',
    networkError: '无法连接服务器，请检查网络。',
  },
  locale: {
    'zh-CN': '简体中文',
    en: 'English',
  },
  groups: {
    acquisition: '拓客引流',
    customers: '客户管理',
    groups: '客户群',
    outreach: '消息触达',
    marketing: '营销',
    data: '数据',
    settings: '设置',
  },
  pages: {
    dashboard: '工作台',
    contactWays: '渠道活码',
    groupCodes: '群活码',
    welcomeMessages: '欢迎语',
    customerList: '客户列表',
    customerTags: '客户标签',
    lostCustomers: '流失客户',
    handover: '离职继承',
    groupList: '客户群列表',
    groupTags: '群标签',
    groupStats: '群统计',
    massMessages: '客户群发',
    groupMessages: '客户群群发',
    moments: '客户朋友圈',
    materials: '素材中心',
    campaigns: '营销活动',
    dataOverview: '数据概览',
    memberStats: '成员统计',
    wecom: '企业微信',
    members: '成员与部门',
    roles: '角色权限',
    jobs: '任务中心',
    privacy: '隐私与数据',
    notFound: '页面不存在',
  },
  comingSoon: {
    message: '该功能正在建设中，即将上线。',
  },
  notFound: {
    message: '您访问的页面不存在或已被移除。',
  },
  dashboard: {
    welcome: '欢迎使用汇客，在这里查看企业私域运营的整体情况。',
    systemStatus: '系统状态',
    version: '版本',
    mode: '运行模式',
    modes: {
      embedded: '单机模式',
      scale: '集群模式',
    },
    readiness: '就绪检查',
    checks: {
      database: '数据库',
      broker: '消息队列',
    },
    checkState: {
      ok: '正常',
      error: '异常',
      unknown: '未知',
    },
    trendTitle: '近 7 日新增客户',
    trendEmpty: '暂无数据，连接企业微信并同步客户后将在此展示趋势。',
    newCustomers: '新增客户',
  },
  jobs: {
    subtitle: '查看后台任务（同步、导入导出等）的执行进度。',
    columns: {
      kind: '任务类型',
      status: '状态',
      progress: '进度',
      error: '错误信息',
      createdAt: '创建时间',
      startedAt: '开始时间',
      finishedAt: '完成时间',
      id: '任务 ID',
      result: '结果',
      actions: '操作',
    },
    status: {
      queued: '排队中',
      running: '运行中',
      succeeded: '已完成',
      failed: '失败',
    },
    empty: '暂无任务',
    polling: '有任务正在执行，每 3 秒自动刷新',
    detailTitle: '任务详情',
    loadFailed: '无法加载任务列表',
  },
} as const

/** Deep structure of the messages with every leaf widened to `string`. */
type Widen<T> = { [K in keyof T]: T[K] extends string ? string : Widen<T[K]> }
export type Messages = Widen<typeof zhCN>

const messages: Messages = zhCN
export default messages
