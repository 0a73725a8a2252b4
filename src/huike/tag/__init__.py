"""Corp tags (企业客户标签): tag groups and tags, mirrored from WeCom and written through to it."""
