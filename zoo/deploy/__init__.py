"""Running exported models: the runners of ONNX and TFLite files (`runtime`, TensorFlow-free, what
phones and servers install) and the serving functions and Keras runner that the exporters and the
Keras runtime share (`serving`)."""
