"""The mParticle Web SDK's own endpoints: the Identity API, event uploads, kit configuration."""
