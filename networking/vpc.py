"""The `network` layer (aws): the VPC the EKS cluster and GPU nodes live in, and the EFA security group.

Nodes live in private subnets only (one per AZ, tagged for internal load balancers); public subnets exist only to
hold the NAT gateways, so no public load balancer can find a subnet by accident. Image pulls, token exchange and
model downloads from S3 stay on VPC endpoints instead of the NAT.

Returns `NetworkOutputs` (components/outputs.py) for the cluster, compute and storage layers: the VPC id, the private
subnets (in network.availabilityZones order and by AZ) and, when the fabric is efa, the EFA security group every EFA
interface of GPU nodes joins. With `network.existingVpc` only the EFA security group is created, in that VPC, and the
given subnets are handed on (the way to a private API endpoint, docs/compute.md). Empty on an existing cluster.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.context import PlatformContext
from components.outputs import NetworkOutputs
from components.spec import StackSpec

# Interface endpoints and what each keeps off the NAT: ECR API + DKR (image pulls; layers come from S3 through the
# gateway endpoint), STS (IRSA / pod identity tokens), CloudWatch Logs.
INTERFACE_ENDPOINTS: tuple[str, ...] = ("ecr.api", "ecr.dkr", "sts", "logs")
EKS_INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"


@dataclass(frozen=True)
class SubnetPlan:
    az: str
    private: str
    public: str


def plan_subnets(vpc_cidr: str, azs: list[str]) -> list[SubnetPlan]:
    """Carve the VPC: equal large private subnets (pods take VPC addresses) and small public subnets for NAT only.

    The VPC is split into the smallest power of two of blocks that holds one per AZ plus one; the AZs take the first
    blocks as private subnets and the last block is split again into one small public subnet per AZ.
    """
    net = ipaddress.ip_network(vpc_cidr)
    if not azs:
        return []
    bits = math.ceil(math.log2(len(azs) + 1))
    blocks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = list(net.subnets(prefixlen_diff=bits))
    spare = blocks[-1]
    pub_bits = max(1, math.ceil(math.log2(len(azs))))
    # NAT-only subnets: /24 in a /16 VPC, never smaller than AWS's /28 minimum nor overlapping each other.
    new_prefix = max(spare.prefixlen + pub_bits, min(28, net.prefixlen + 8))
    public = list(spare.subnets(new_prefix=new_prefix))
    return [SubnetPlan(az, str(blocks[i]), str(public[i])) for i, az in enumerate(azs)]


def _tags(spec: StackSpec, name: str, **extra: str) -> dict[str, str]:
    return {"Name": f"{spec.cluster.name}-{name}", **extra}


def build(ctx: PlatformContext, parent: pulumi.Resource) -> NetworkOutputs:
    """VPC, subnets, gateways, routes, endpoints and the EFA security group (aws only)."""
    spec = ctx.spec
    if spec.cluster.provider != "aws":
        return NetworkOutputs()
    if spec.network.existing_vpc is not None:
        return existing(ctx, parent)
    name, net = spec.cluster.name, spec.network
    cluster_tag = f"kubernetes.io/cluster/{name}"
    vpc = aws.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=net.vpc_cidr,
        enable_dns_support=True,
        enable_dns_hostnames=True,  # interface endpoints with private DNS need both
        tags=_tags(spec, "vpc"),
        opts=ctx.aws_opts(parent),
    )
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=_tags(spec, "igw"), opts=ctx.aws_opts(parent))
    public_rt = aws.ec2.RouteTable(
        f"{name}-public-rt", vpc_id=vpc.id, tags=_tags(spec, "public"), opts=ctx.aws_opts(parent)
    )
    aws.ec2.Route(
        f"{name}-public-default",
        route_table_id=public_rt.id,
        destination_cidr_block="0.0.0.0/0",
        gateway_id=igw.id,
        opts=ctx.aws_opts(parent),
    )

    private_ids: list[pulumi.Output[str]] = []
    by_az: dict[str, pulumi.Output[str]] = {}
    private_rts: list[aws.ec2.RouteTable] = []
    nat: aws.ec2.NatGateway | None = None
    for i, plan in enumerate(plan_subnets(net.vpc_cidr, net.availability_zones)):
        az = plan.az
        public = aws.ec2.Subnet(
            f"{name}-public-{az}",
            vpc_id=vpc.id,
            cidr_block=plan.public,
            availability_zone=az,
            map_public_ip_on_launch=False,
            tags=_tags(spec, f"public-{az}"),
            opts=ctx.aws_opts(parent),
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-public-{az}", subnet_id=public.id, route_table_id=public_rt.id, opts=ctx.aws_opts(parent)
        )
        if net.nat_gateways == "per-az" or i == 0:
            eip = aws.ec2.Eip(
                f"{name}-nat-{az}", domain="vpc", tags=_tags(spec, f"nat-{az}"), opts=ctx.aws_opts(parent)
            )
            nat = aws.ec2.NatGateway(
                f"{name}-nat-{az}",
                allocation_id=eip.id,
                subnet_id=public.id,
                tags=_tags(spec, f"nat-{az}"),
                opts=ctx.aws_opts(parent, depends_on=[igw]),
            )
        private = aws.ec2.Subnet(
            f"{name}-private-{az}",
            vpc_id=vpc.id,
            cidr_block=plan.private,
            availability_zone=az,
            tags=_tags(spec, f"private-{az}", **{EKS_INTERNAL_ELB_TAG: "1", cluster_tag: "shared"}),
            opts=ctx.aws_opts(parent),
        )
        rt = aws.ec2.RouteTable(
            f"{name}-private-rt-{az}", vpc_id=vpc.id, tags=_tags(spec, f"private-{az}"), opts=ctx.aws_opts(parent)
        )
        assert nat is not None  # the first AZ always creates one
        aws.ec2.Route(
            f"{name}-private-default-{az}",
            route_table_id=rt.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
            opts=ctx.aws_opts(parent),
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-private-{az}", subnet_id=private.id, route_table_id=rt.id, opts=ctx.aws_opts(parent)
        )
        private_ids.append(private.id)
        by_az[az] = private.id
        private_rts.append(rt)

    _endpoints(ctx, parent, vpc, private_ids, private_rts)
    efa_sg = efa_security_group(ctx, parent, vpc.id).id if net.fabric.type == "efa" else None
    return NetworkOutputs(
        vpc_id=vpc.id,
        private_subnet_ids=tuple(private_ids),
        subnet_ids_by_az=by_az,
        efa_security_group_id=efa_sg,
    )


def existing(ctx: PlatformContext, parent: pulumi.Resource) -> NetworkOutputs:
    """An existing VPC (network.existingVpc): its private subnets as given, and the EFA security group created in it.
    Nothing else is created: its routes, NAT and endpoints are its owner's."""
    net = ctx.spec.network
    vpc = net.existing_vpc
    assert vpc is not None
    vpc_id = pulumi.Output.from_input(vpc.vpc_id)
    by_az = {az: pulumi.Output.from_input(vpc.private_subnet_ids[az]) for az in net.availability_zones}
    efa_sg = efa_security_group(ctx, parent, vpc_id).id if net.fabric.type == "efa" else None
    return NetworkOutputs(
        vpc_id=vpc_id,
        private_subnet_ids=tuple(by_az[az] for az in net.availability_zones),
        subnet_ids_by_az=by_az,
        efa_security_group_id=efa_sg,
    )


def _endpoints(
    ctx: PlatformContext,
    parent: pulumi.Resource,
    vpc: aws.ec2.Vpc,
    subnet_ids: list[pulumi.Output[str]],
    route_tables: list[aws.ec2.RouteTable],
) -> None:
    spec, region = ctx.spec, ctx.region
    name = spec.cluster.name
    wanted = spec.network.endpoints
    if "s3" in wanted:
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in route_tables],
            tags=_tags(spec, "s3"),
            opts=ctx.aws_opts(parent),
        )
    interface = [svc for svc in INTERFACE_ENDPOINTS if svc in wanted]
    if not interface:
        return
    sg = aws.ec2.SecurityGroup(
        f"{name}-endpoints",
        vpc_id=vpc.id,
        description="HTTPS from the VPC to its interface endpoints",
        tags=_tags(spec, "endpoints"),
        opts=ctx.aws_opts(parent),
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-endpoints-https",
        security_group_id=sg.id,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        cidr_ipv4=spec.network.vpc_cidr,
        description="HTTPS from the VPC",
        opts=ctx.aws_opts(parent),
    )
    for svc in interface:
        aws.ec2.VpcEndpoint(
            f"{name}-{svc.replace('.', '-')}",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{region}.{svc}",
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=subnet_ids,
            security_group_ids=[sg.id],
            tags=_tags(spec, svc),
            opts=ctx.aws_opts(parent),
        )


def efa_security_group(
    ctx: PlatformContext, parent: pulumi.Resource, vpc_id: pulumi.Input[str]
) -> aws.ec2.SecurityGroup:
    """The security group EFA requires: all traffic inbound from and outbound to itself (EFA OS-bypass traffic
    is dropped otherwise). Rules are separate resources so nothing else (e.g. a default egress) is implied."""
    name = ctx.spec.cluster.name
    sg = aws.ec2.SecurityGroup(
        f"{name}-efa",
        vpc_id=vpc_id,
        description="EFA: all traffic to and from members of this group",
        tags=_tags(ctx.spec, "efa"),
        opts=ctx.aws_opts(parent),
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-efa-self-in",
        security_group_id=sg.id,
        ip_protocol="-1",
        referenced_security_group_id=sg.id,
        description="EFA: all inbound from itself",
        opts=ctx.aws_opts(parent),
    )
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-efa-self-out",
        security_group_id=sg.id,
        ip_protocol="-1",
        referenced_security_group_id=sg.id,
        description="EFA: all outbound to itself",
        opts=ctx.aws_opts(parent),
    )
    return sg
