"""Seed 003 (Goldberg): the DyNet example, as on the slide; only the import line differs."""
from compgraph.dynet import *

# model initialization.
model = Model()
mW1 = model.add_parameters((20,150))
mb1 = model.add_parameters(20)
mW2 = model.add_parameters((17,20))
mb2 = model.add_parameters(17)
lookup = model.add_lookup_parameters((100, 50))

# Building the computation graph:
renew_cg() # create a new graph.
# Wrap the model parameters as graph-nodes.
W1 = parameter(mW1)
b1 = parameter(mb1)
W2 = parameter(mW2)
b2 = parameter(mb2)
def get_index(x): return 1
# Generate the embeddings layer.
vthe = lookup[get_index("the")]
vblack = lookup[get_index("black")]
vdog = lookup[get_index("dog")]

# Connect the leaf nodes into a complete graph.
x = concatenate([vthe, vblack, vdog])
output = softmax(W2*(tanh(W1*x)+b1)+b2)
loss = -log(pick(output, 5))

loss_value = loss.forward()
loss.backward() # the gradient is computed
                # and stored in the corresponding
                # parameters.
# DyNet 2.1.2's forward() computes the graph and returns None (DyNet 1's returned the value,
# which the slide's loss_value expects); the value is loss.value()
print("forward() returned", loss_value)
print("loss", loss.value())
print("dW1 norm", float((mW1.grad_as_array() ** 2).sum() ** 0.5))
