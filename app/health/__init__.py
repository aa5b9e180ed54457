"""Health check for load balancers and orchestrators: is the database reachable?"""
