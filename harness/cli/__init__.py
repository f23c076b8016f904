"""The ``nasbench`` command line."""
