"""Serving: the Dynamo platform, one DynamoGraphDeployment per model, KV cache tiers, routing and the Planner."""
