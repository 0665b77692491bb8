/**
 * Functions that reach Dify's PostgreSQL can run in the customer's VPC: set SPACEGATE_VPC_SUBNETS and
 * SPACEGATE_VPC_SECURITY_GROUPS (comma-separated ids) when deploying. Without them they run outside
 * any VPC and reach the database over the internet.
 */
const list = (value: string | undefined) => (value ? value.split(",").map((item) => item.trim()) : []);

const subnets = list(process.env.SPACEGATE_VPC_SUBNETS);
const securityGroups = list(process.env.SPACEGATE_VPC_SECURITY_GROUPS);

export const difyVpc = subnets.length > 0 ? { privateSubnets: subnets, securityGroups } : undefined;
