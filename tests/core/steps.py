"""The training step the compile tests trace: zero_grad, forward, loss, backward, step."""
import compgraph.nn.functional as F


def training_step(model, opt, loss_fn=F.cross_entropy):
    def step(x, t):
        opt.zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        opt.step()
        return loss
    return step
