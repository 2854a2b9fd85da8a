# Namespace of this provider (read by proctor, as by Checkbox).
setup(name="proctor-example", namespace="com.example")
