"""nasbench's built-in plugins; each sub-package is loaded through the ``nasbench`` entry points."""
