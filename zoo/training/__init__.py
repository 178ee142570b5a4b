"""What `python -m zoo.train` is built from: run folders and checkpoints (`runs`), the Keras
callbacks (`callbacks`), the test-set evaluation (`evaluation`) and the pictures of a run (`plots`)."""
