"""The suite stage: what runs inside pytest to make one Sample per HTTP call.

The target (`targets`), the api client (`client`) and what it judges on every call
(`schemas`, `budgets`), the test accounts (`credentials`), the request and response views
handed to reporters (`exchange`), the CLIENT spans (`tracing`), the sample hook
(`hookspecs`) and the pytest hooks that tie them together (`hooks`). Later stages never
import this package: they read the samples it wrote.
"""
