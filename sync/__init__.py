"""The sync between the appliances and the cloud: the wire protocol (`protocol`), the appliance's agent (`agent`,
httpx only, no cloud imports) and the rules by which the cloud applies what appliances send (`apply`)."""
