"""Who is calling and what they may see: tokens, the actor, the access policy, the development
issuer."""
