"""What demo tickets say: cases like the seed's, in Chinese and English, with the identifiers customers send."""

from __future__ import annotations

# product, category, language, subject, description. {iid}, {rid}, {domain}, {ip} are filled per ticket.
CASES: list[tuple[str, str, str, str, str]] = [
    ("mongodb", "performance", "zh", "MongoDB 有一些慢日志查询，不是我们业务产生的",
     "实例 {iid} 在 11月4号到11月5号出现很多慢日志，op 是 getmore，ns 是 local.oplog.rs，用户 __system。"
     "我们业务没有这样的查询，请帮忙确认来源。"),
    ("mongodb", "performance", "en", "Slow queries on orders collection after release",
     "Since yesterday's release find on shop.orders takes 2-5 s, planSummary COLLSCAN. Instance {iid}."),
    ("cdn", "acceleration", "zh", "CDN 加速效果不理想，访问很慢",
     "域名 {domain} 接入 CDN 后首页仍然要 1 秒以上。httpstat 显示 TLS Handshake 234ms，X-Cache 有时是 MISS。"),
    ("cdn", "cache", "en", "CDN always returns MISS for static assets",
     "Every request to https://{domain}/static/app.js shows X-Cache: MISS TCP_MISS. Origin sends Cache-Control: private?"),
    ("ddos", "latency", "zh", "高防(国际)+加速线路，国内访问香港服务器延迟很高",
     "域名已经解析到高防 IP {ip}，WinMTR 显示从 220.191.200.53 开始丢包 38%，一直到目的地。请排查是否被黑洞。"),
    ("ddos", "blackhole", "en", "Anti-DDoS IP blackholed again",
     "Our protection IP {ip} was blackholed twice this week. What can we change to avoid it?"),
    ("slb", "health-check", "zh", "SLB 健康检查异常，后端 nginx 正常",
     "七层 HTTPS 443 转发到后端 87 端口，nginx 87 端口在监听，改成四层 TCP 就没问题。实例 {iid}。"),
    ("slb", "health-check", "en", "Load balancer marks all backends unhealthy",
     "HTTP health check on /health fails for all ECS backends but curl from the instance returns 200. LB {iid}."),
    ("expressconnect", "cen", "zh", "高速通道 VBR 无法加入 CEN",
     "VBR {iid} 加入云企业网时报错，我们使用了 BGP 和静态路由，两条专线冗余接入。"),
    ("cen", "routing", "en", "CEN route not propagated to VPC in Frankfurt",
     "Route 10.20.0.0/16 learnt from the VBR does not appear in vpc {iid}. RequestId {rid}."),
    ("ecs", "connectivity", "zh", "ECS 无法 SSH 登录",
     "实例 {iid} 突然无法 SSH，控制台 VNC 可以登录，安全组 22 端口已经放行。"),
    ("ecs", "performance", "en", "ECS CPU steal time high during business hours",
     "Instance {iid} shows 30% steal between 10:00 and 12:00 UTC+8 every day. Burstable type?"),
    ("ecs", "billing", "zh", "ECS 释放后仍然扣费",
     "实例 {iid} 已经在 11 月 3 日释放，但账单里 11 月 5 日仍有费用。"),
    ("oss", "access", "en", "OSS PutObject returns 403 AccessDenied for RAM user",
     "SDK call fails with AccessDenied, RequestId {rid}. The RAM user has AliyunOSSFullAccess."),
    ("oss", "access", "zh", "OSS 跨域访问报 CORS 错误",
     "前端从 https://{domain} 上传到 bucket 报 No 'Access-Control-Allow-Origin'，RequestId {rid}。"),
    ("rds-mysql", "performance", "zh", "RDS MySQL CPU 100%，慢查询很多",
     "实例 {iid} 从昨晚 22:00 开始 CPU 打满，慢日志里大量 SELECT ... WHERE user_id IN (...)。"),
    ("rds-mysql", "connectivity", "en", "Too many connections on RDS MySQL",
     "Application gets ERROR 1040 Too many connections on {iid} at peak. max_connections is 2000."),
    ("rds-postgresql", "performance", "en", "PostgreSQL query suddenly slow after vacuum",
     "A query on events table went from 20 ms to 4 s. Instance {iid}. Plan changed to seq scan?"),
    ("redis", "performance", "zh", "Redis 延迟突增，怀疑有大 key",
     "实例 {iid} 每隔几分钟延迟飙升到 200ms，slowlog 里有 KEYS 和 HGETALL。"),
    ("ack", "scheduling", "en", "Pods stuck in Pending on ACK cluster",
     "Cluster {iid}: new pods stay Pending with 0/6 nodes are available: insufficient cpu. Autoscaler enabled."),
    ("ack", "network", "zh", "ACK 集群 Ingress 偶发 502",
     "集群 {iid} 的 nginx-ingress 偶发 502，后端 pod 正常，怀疑 SLB 健康检查。"),
    ("acr", "registry", "en", "docker pull from ACR times out in VPC",
     "Pulling from registry-vpc times out from ECS {iid}; public endpoint works. RequestId {rid}."),
    ("waf", "false-positive", "zh", "WAF 误拦截正常请求",
     "域名 {domain} 的 POST /api/upload 被 WAF 拦截，返回 405，规则 ID 不清楚。"),
    ("ram", "permission", "en", "STS AssumeRole fails with NoPermission",
     "AssumeRole returns NoPermission for role arn acs:ram::1234:role/deployer, RequestId {rid}."),
    ("sls", "alerting", "zh", "日志服务如何配置告警，不通过云监控",
     "想直接在日志服务 logstore 上配置告警，当 5 分钟内 ERROR 超过 100 条时通知钉钉。"),
    ("mq", "consumption", "en", "RocketMQ consumer lag keeps growing",
     "Group GID_orders lag grows to 1M messages since 09:00. Instance {iid}."),
    ("directmail", "delivery", "zh", "邮件推送发信失败",
     "调用 SingleSendMail 返回 InvalidMailAddress，RequestId {rid}，地址格式正确。"),
    ("billing", "invoice", "en", "Invoice missing for October",
     "We cannot find the October invoice for our account. Please advise."),
    ("other", "sdk", "zh", "使用 aliyun SDK 报错 SDK.ServerUnreachable",
     "Python SDK 调用 DescribeInstances 报 SDK.ServerUnreachable，RequestId {rid}，网络正常。"),
    ("vpn", "connectivity", "en", "IPsec VPN tunnel flaps every hour",
     "VPN gateway {iid} tunnel to our office goes down every ~60 minutes, phase 2 renegotiation fails."),
]

ORGANISATIONS = [
    ("Emarine Online", "enterprise", "cn-hangzhou", "zh"),
    ("Acme Retail", "business", "eu-central-1", "en"),
    ("北京星云科技", "enterprise", "cn-beijing", "zh"),
    ("Globex Logistics", "business", "ap-southeast-1", "en"),
    ("上海蓝鲸游戏", "business", "cn-shanghai", "zh"),
    ("Initech Payments", "enterprise", "ap-southeast-1", "en"),
    ("深圳云帆电商", "basic", "cn-shenzhen", "zh"),
    ("Umbrella Health", "business", "us-west-1", "en"),
    ("杭州数智教育", "basic", "cn-hangzhou", "zh"),
    ("Stark Media", "basic", "ap-northeast-1", "en"),
    ("成都熊猫出行", "business", "cn-chengdu", "zh"),
    ("Wayne Analytics", "enterprise", "eu-west-1", "en"),
]

ESCALATION_SUMMARY = {
    "problem": "Customer reports {subject}; impact started at the time window below.",
    "checked": "Checked instance status, monitoring, recent changes and the customer's logs; reproduced the request.",
    "findings": "Evidence points below the OS/console layer; see attached log excerpt and request ids.",
    "impact": "Production traffic affected for the customer's users.",
}

BOUNCE_REASONS = [
    "Case summary lacks the request id and the time window; please add them before escalating again.",
    "升级信息不完整：没有排查过程和日志证据，请补充后再升级。",
    "This is a known configuration issue the front line can solve: see case library entry on SLB HEAD checks.",
]

REASSIGN_REASONS = [
    "Root cause is in the load balancer, not the ECS instance: moving to the network line.",
    "问题在 CDN 回源配置，转 CDN 垂直线处理。",
    "Customer's question is about billing of the resource, moving to the fallback line.",
]

REPLIES_EN = [
    "Thanks for the details. Could you send the output of httpstat or curl -v for the failing URL?",
    "We are checking the backend logs now and will update you within the hour.",
    "Please share a WinMTR/mtr report from the affected client to the destination IP.",
    "The slow entries are replication (oplog tailing by __system), not your application's queries.",
]
REPLIES_ZH = [
    "感谢提供信息，请提供出问题时的 httpstat 或 curl -v 输出。",
    "我们正在排查后端日志，一小时内给您更新。",
    "请从受影响的客户端做一次 WinMTR/mtr 到目标 IP 的测试并提供结果。",
    "这些慢日志是 __system 用户的 oplog 同步（副本集复制），不是您的业务查询。",
]
CUSTOMER_REPLIES = [
    "Attached the output as requested.",
    "已按要求提供日志，请查看。",
    "We changed the health check to GET and it is healthy now, thanks!",
    "问题依旧，麻烦再看一下。",
]
RESOLUTIONS = [
    "Root cause found and fixed; details in the timeline. Closing after your confirmation.",
    "问题原因已确认并给出解决方案，如有问题请随时回复。",
]

RATING_COMMENTS = {
    "good": ["Quick and clear, thanks!", "问题解决得很快，谢谢！", "Great explanation of the root cause.", ""],
    "neutral": ["Solved, but it took three rounds of questions.", "解决了，但是等待时间比较长。", ""],
    "bad": ["We were asked for the same logs twice.", "工单被来回转了好几次，体验很差。"],
}
