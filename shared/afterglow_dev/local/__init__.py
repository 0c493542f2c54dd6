"""The local stack: moto in server mode plus an API Gateway stand-in, both built from template.yaml.

Development tooling only (it needs the `dev` extra); no Lambda function imports it.
"""
