"""The lines and products every desk starts with (the seed's vertical lines), created idempotently."""

from __future__ import annotations

from django.db import transaction

from casework.desk.team.models import Line, Product

# code, English name, Chinese name
LINES = [
    ("compute", "Compute (ECS)", "弹性计算"),
    ("network", "Network", "网络"),
    ("storage", "Storage (OSS)", "存储"),
    ("database", "Database (RDS)", "数据库"),
    ("container", "Container", "容器"),
    ("cdn", "CDN", "CDN"),
    ("security", "Security", "安全"),
    ("middleware", "Middleware & big data", "中间件与大数据"),
    ("fallback", "Fallback", "兜底"),
]

# code, name, default line
PRODUCTS = [
    ("ecs", "Elastic Compute Service (ECS)", "compute"),
    ("ess", "Auto Scaling", "compute"),
    ("slb", "Server Load Balancer (SLB)", "network"),
    ("vpc", "Virtual Private Cloud (VPC)", "network"),
    ("vpn", "VPN Gateway", "network"),
    ("cen", "Cloud Enterprise Network (CEN)", "network"),
    ("expressconnect", "Express Connect (VBR)", "network"),
    ("eip", "Elastic IP", "network"),
    ("oss", "Object Storage Service (OSS)", "storage"),
    ("nas", "File Storage NAS", "storage"),
    ("rds-mysql", "ApsaraDB RDS for MySQL", "database"),
    ("rds-postgresql", "ApsaraDB RDS for PostgreSQL", "database"),
    ("mongodb", "ApsaraDB for MongoDB", "database"),
    ("redis", "ApsaraDB for Redis", "database"),
    ("ack", "Container Service for Kubernetes (ACK)", "container"),
    ("acr", "Container Registry", "container"),
    ("cdn", "CDN", "cdn"),
    ("dcdn", "Dynamic Route for CDN", "cdn"),
    ("ddos", "Anti-DDoS Pro", "security"),
    ("waf", "Web Application Firewall", "security"),
    ("ram", "Resource Access Management (RAM)", "security"),
    ("sls", "Log Service (SLS)", "middleware"),
    ("mq", "Message Queue", "middleware"),
    ("directmail", "DirectMail", "middleware"),
    ("billing", "Billing & account", "fallback"),
    ("other", "Other", "fallback"),
]


@transaction.atomic
def ensure_reference_data() -> None:
    lines = {}
    for code, name, name_zh in LINES:
        lines[code], _ = Line.objects.get_or_create(
            code=code, defaults={"name": name, "name_zh": name_zh, "is_fallback": code == "fallback"}
        )
    for code, name, line in PRODUCTS:
        Product.objects.get_or_create(code=code, defaults={"name": name, "default_line": lines[line]})
