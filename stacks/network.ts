/**
 * Functions that reach Dify's PostgreSQL (the API, the sync worker, the refresh) can run in the VPC
 * that database lives in: SPACEGATE_VPC_SUBNETS and SPACEGATE_VPC_SECURITY_GROUPS (comma-separated
 * ids of existing private subnets and security groups). SPACEGATE_GATEWAY_IN_VPC=true places the
 * gateway there too, for MCP servers that are only reachable inside it.
 *
 * In a VPC the functions still need DynamoDB, SQS and Secrets Manager. SPACEGATE_VPC_EGRESS chooses
 * how: "endpoints" (the default) creates a DynamoDB gateway endpoint on the subnets' route tables and
 * interface endpoints for SQS and Secrets Manager; "nat" creates nothing and relies on the subnets'
 * existing NAT, which also lets the functions reach MCP servers on the internet.
 */
const list = (value: string | undefined) =>
  (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

const subnets = list(process.env.SPACEGATE_VPC_SUBNETS);
const securityGroups = list(process.env.SPACEGATE_VPC_SECURITY_GROUPS);
const egress = process.env.SPACEGATE_VPC_EGRESS ?? "endpoints";

if (subnets.length > 0 && securityGroups.length === 0) {
  throw new Error("SPACEGATE_VPC_SUBNETS is set: set SPACEGATE_VPC_SECURITY_GROUPS too.");
}
if (egress !== "endpoints" && egress !== "nat") {
  throw new Error(`SPACEGATE_VPC_EGRESS must be "endpoints" or "nat", not "${egress}".`);
}

export const vpc = subnets.length > 0 ? { privateSubnets: subnets, securityGroups } : undefined;
export const gatewayVpc = process.env.SPACEGATE_GATEWAY_IN_VPC === "true" ? vpc : undefined;

if (vpc && egress === "endpoints") {
  const region = aws.getRegionOutput().name;
  const vpcId = aws.ec2.getSubnetOutput({ id: subnets[0] }).vpcId;
  const routeTableIds = $resolve(
    subnets.map((subnetId) => aws.ec2.getRouteTableOutput({ subnetId }).routeTableId),
  ).apply((ids) => [...new Set(ids)]);

  new aws.ec2.VpcEndpoint("DynamoEndpoint", {
    vpcId,
    serviceName: $interpolate`com.amazonaws.${region}.dynamodb`,
    vpcEndpointType: "Gateway",
    routeTableIds,
  });

  const endpointSecurityGroup = new aws.ec2.SecurityGroup("EndpointSecurityGroup", {
    vpcId,
    description: "Spacegate: HTTPS from the functions to the SQS and Secrets Manager endpoints",
    ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, securityGroups }],
  });
  for (const [name, service] of [
    ["SqsEndpoint", "sqs"],
    ["SecretsEndpoint", "secretsmanager"],
  ] as const) {
    new aws.ec2.VpcEndpoint(name, {
      vpcId,
      serviceName: $interpolate`com.amazonaws.${region}.${service}`,
      vpcEndpointType: "Interface",
      subnetIds: subnets,
      securityGroupIds: [endpointSecurityGroup.id],
      privateDnsEnabled: true,
    });
  }
}
