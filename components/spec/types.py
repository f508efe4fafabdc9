"""Checked string and list types of the spec: every name that becomes a Kubernetes name or a path, every label,
CIDR and set-like list is validated where it is declared, with a message that says what is allowed.

Sources: Kubernetes "Object Names and IDs" (RFC 1123 label: lowercase alphanumerics and '-', start and end
alphanumeric, at most 63; RFC 1123 subdomain: labels joined by '.', at most 253) and "Labels and Selectors" (key =
optional DNS-subdomain prefix + '/' + name of at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends; value the
same form or empty), as k8s.io/apimachinery/pkg/util/validation implements them (IsDNS1123Label,
IsDNS1123Subdomain, IsQualifiedName, IsValidLabelValue). Limits: Kubernetes "Considerations for large clusters"
(at most 5,000 nodes and 150,000 pods per cluster).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, WithJsonSchema

# Names of this stack's objects (pools aside): an RFC 1123 label that leaves room for derived names.
NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,39}[a-z0-9])?$"
MAX_NODES = 5_000  # Kubernetes: no more than 5,000 nodes per cluster
MAX_PODS = 150_000  # Kubernetes: no more than 150,000 pods per cluster

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def dns_label(value: str) -> str:
    if len(value) > 63 or not _LABEL.match(value):
        raise ValueError(
            "must be an RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or "
            "digit, at most 63 characters"
        )
    return value


def dns_subdomain(value: str) -> str:
    if len(value) > 253 or not all(_LABEL.match(part) for part in value.split(".")):
        raise ValueError(
            "must be an RFC 1123 subdomain: lowercase letters, digits, '-' and '.', each dot-separated part "
            "starting and ending with a letter or digit, at most 253 characters"
        )
    return value


def label_key(value: str) -> str:
    prefix, _, name = value.rpartition("/")
    if prefix:
        try:
            dns_subdomain(prefix)
        except ValueError:
            raise ValueError(f"label key prefix {prefix!r} must be a DNS subdomain (e.g. example.com)") from None
    if len(name) > 63 or not _QUALIFIED_NAME.match(name):
        raise ValueError(
            "must be a label key: an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', "
            "'_' or '.', starting and ending with a letter or digit"
        )
    return value


def label_value(value: str) -> str:
    if value and (len(value) > 63 or not _QUALIFIED_NAME.match(value)):
        raise ValueError(
            "must be a label value: empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending "
            "with a letter or digit"
        )
    return value


def cidr(value: str) -> str:
    if "/" not in value:
        raise ValueError("must be a CIDR block like 10.0.0.0/16 (address/prefix length)")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError("must be a CIDR block like 10.0.0.0/16") from None
    if str(network) != value and network.with_prefixlen != value:
        raise ValueError(f"has host bits set; the network is {network.with_prefixlen}")
    return value


def absolute_path(value: str) -> str:
    if not value.startswith("/") or ".." in value.split("/") or not re.fullmatch(r"[A-Za-z0-9._/-]+", value):
        raise ValueError("must be an absolute path of letters, digits, '.', '_', '-' and '/', without '..'")
    return value


def relative_path(value: str) -> str:
    parts = value.split("/")
    if not all(re.fullmatch(r"[A-Za-z0-9_.-]+", p) and p not in (".", "..") for p in parts):
        raise ValueError("must be a relative path of letters, digits, '.', '_', '-' and '/', without '..'")
    return value


T = TypeVar("T")


def _unique(values: list[Any]) -> list[Any]:
    dupes = sorted((str(v) for v, n in Counter(map(_key, values)).items() if n > 1))
    if dupes:
        raise ValueError(f"lists each entry once; repeated: {', '.join(dupes)}")
    return values


def _key(value: Any) -> Any:
    return value if isinstance(value, str | int | float) else repr(value)


# JSON Schema of each (for editors through `inference-ra schema --stack-file`); the validators are the authority.
_LABEL_JSON = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_VALUE_JSON = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
DnsLabel = Annotated[
    str, AfterValidator(dns_label), WithJsonSchema({"type": "string", "pattern": _LABEL_JSON, "maxLength": 63})
]
DnsSubdomain = Annotated[
    str,
    AfterValidator(dns_subdomain),
    WithJsonSchema({"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}),
]
LabelKey = Annotated[str, AfterValidator(label_key)]
LabelValue = Annotated[
    str, AfterValidator(label_value), WithJsonSchema({"type": "string", "pattern": _VALUE_JSON, "maxLength": 63})
]
Labels = dict[LabelKey, LabelValue]
Cidr = Annotated[str, AfterValidator(cidr)]
AbsolutePath = Annotated[str, AfterValidator(absolute_path)]
RelativePath = Annotated[str, AfterValidator(relative_path)]
# list[T] whose entries must be distinct (availability zones, devices, backends, concurrencies...)
UniqueList = Annotated[list[T], AfterValidator(_unique)]
