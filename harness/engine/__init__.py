"""The search machinery: data on the device, the trainer, architecture gradients, Hessian, devices."""
