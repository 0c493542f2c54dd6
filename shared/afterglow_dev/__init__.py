"""Development tooling for Afterglow: never part of the Lambda layer.

The local stack (`local`: moto, the template-driven gateway, the demo shop, bench and load test),
the learning simulator, the synthetic catalog generator, the OpenAPI writer and the `afterglow`
command's developer commands. It imports the runtime package `afterglow`; the runtime package never
imports it.
"""
