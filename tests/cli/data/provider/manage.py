# Fixture provider of the cli tests (namespace read by proctor).
setup(name="proctor-cli-fixture", namespace="t")
