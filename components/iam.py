"""IAM documents shared by the layers that create IRSA roles (the cluster's EBS CSI role, the storage layer's
model bucket roles)."""

from __future__ import annotations

import json


def irsa_trust_policy(oidc_arn: str, issuer: str, subjects: list[str]) -> str:
    """Trust policy of an IRSA role: only the given service accounts (`namespace:name`) of this cluster may assume
    it. `issuer` is the OIDC issuer without its scheme."""
    subs = [f"system:serviceaccount:{s}" for s in sorted(subjects)]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:aud": "sts.amazonaws.com",
                            f"{issuer}:sub": subs[0] if len(subs) == 1 else subs,
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )
