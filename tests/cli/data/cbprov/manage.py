# Fixture of the cli tests: a Checkbox-style provider (bin/, data/, a
# manage.py), read by proctor, never run.
from plainbox.provider_manager import setup

setup(
    name="checkbox-provider-cbfix",
    namespace="com.example.cb",
    version="1.0",
    gettext_domain="checkbox-provider-cbfix",
)
