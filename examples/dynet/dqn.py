"""Deep Q-learning, as DyNet's reinforcement-learning example (examples/reinforcement-learning):
an MLP Q-network, a target network copied from it every few updates, a replay buffer,
epsilon-greedy exploration, and an Adam update on the Huber (or squared) loss of a minibatch
that is one batched expression (inputTensor(..., batched=True), pick_batch, sum_batches).

The environment is a corridor of CELLS cells written here with numpy only: the agent starts at
the left end, moves left or right, pays STEP_COST a move and earns 1 at the right end (which
ends the episode).  Sampling and exploration use seeded numpy generators, so runs repeat.

    python examples/dynet/dqn.py --steps 400

train(dy, ...) takes the DyNet module as an argument: the same program runs on compgraph.dynet
and on real DyNet, and from the fixed weights of fixed_weights() the two give the same losses
(tests/dynet/test_examples.py, tests/dynet/reference/builders_examples.json).
"""
import argparse

import numpy as np

CELLS, ACTIONS, STEP_COST, MAX_MOVES = 5, 2, 0.05, 12


class Corridor:
    """States are one-hot positions; action 0 moves left (not past the wall), 1 moves right."""

    def reset(self):
        self.pos, self.moves = 0, 0
        return self.state()

    def state(self):
        return np.eye(CELLS)[self.pos]

    def step(self, action):
        self.pos = max(0, self.pos + (1 if action == 1 else -1))
        self.moves += 1
        goal = self.pos == CELLS - 1
        reward = 1.0 if goal else -STEP_COST
        return self.state(), reward, goal or self.moves >= MAX_MOVES, goal


def fixed_weights(model, seed=0, scale=0.4):
    """Every parameter from a formula (no generator), in DyNet's parameter order."""
    for k, p in enumerate(model.parameters_list()):
        n = int(np.prod(p.shape()))
        p.set_value(scale * np.sin(np.arange(n) * 0.83 + seed + k).reshape(p.shape()))


class QNet:
    def __init__(self, dy, model, hidden=12):
        self.dy, self.model = dy, model
        self.W1, self.b1 = model.add_parameters((hidden, CELLS)), model.add_parameters(hidden)
        self.W2, self.b2 = model.add_parameters((ACTIONS, hidden)), model.add_parameters(ACTIONS)

    def q(self, x):
        return self.W2 * self.dy.rectify(self.W1 * x + self.b1) + self.b2

    def copy_from(self, other):
        for mine, theirs in zip(self.model.parameters_list(), other.model.parameters_list()):
            mine.set_value(theirs.as_array())


def td_loss(dy, net, target, batch, gamma, loss_kind):
    """The minibatch loss: one batched graph for Q(s, a) and the targets r + gamma max Q'(s')."""
    states, actions, rewards, nexts, dones = batch
    dy.renew_cg()
    q_next = target.q(dy.inputTensor(nexts.T, batched=True)).npvalue().reshape(ACTIONS, -1)
    targets = rewards + gamma * (1.0 - dones) * q_next.max(axis=0)
    dy.renew_cg()
    picked = dy.pick_batch(net.q(dy.inputTensor(states.T, batched=True)), list(actions))
    wanted = dy.inputTensor(targets, batched=True)
    diff = picked - wanted
    if loss_kind == "huber":
        # DyNet's huber_distance refuses batches, so Huber with cutoff 1 is written out:
        # with m = min(|d|, 1), m * (|d| - m/2) is d^2/2 inside the cutoff and |d| - 1/2 outside
        size = dy.abs(diff)
        m = dy.bmin(size, dy.inputTensor(np.ones(len(actions)), batched=True))
        losses = dy.cmult(m, size - 0.5 * m)
    else:
        losses = dy.square(diff)
    return dy.sum_batches(losses) / len(actions)


def train(dy, steps=200, batch=8, lr=0.01, gamma=0.9, sync=10, loss_kind="huber", seed=0):
    """Losses of every update (one per environment step once the buffer holds a minibatch)."""
    model, target_model = dy.ParameterCollection(), dy.ParameterCollection()
    net, target = QNet(dy, model), QNet(dy, target_model)
    fixed_weights(model)
    target.copy_from(net)
    trainer = dy.AdamTrainer(model, alpha=lr)
    explore, sample = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    env, memory, losses = Corridor(), [], []
    state = env.reset()
    for step in range(steps):
        eps = max(0.1, 1.0 - step / (0.6 * steps))
        if explore.random() < eps:
            action = int(explore.integers(ACTIONS))
        else:
            dy.renew_cg()
            action = int(np.argmax(net.q(dy.inputVector(list(state))).npvalue()))
        nxt, reward, over, goal = env.step(action)
        memory.append((state, action, reward, nxt, float(goal)))
        state = env.reset() if over else nxt
        if len(memory) < batch:
            continue
        picks = [memory[i] for i in sample.integers(len(memory), size=batch)]
        arrays = tuple(np.array([t[k] for t in picks]) for k in range(5))
        loss = td_loss(dy, net, target, arrays, gamma, loss_kind)
        losses.append(loss.value())
        loss.backward()
        trainer.update()
        if len(losses) % sync == 0:
            target.copy_from(net)
    return losses, net


def greedy_return(dy, net):
    """The return of the greedy policy from the start (the best is 1 - STEP_COST * (CELLS - 2))."""
    env, total = Corridor(), 0.0
    state = env.reset()
    for _ in range(MAX_MOVES):
        dy.renew_cg()
        state, reward, over, _ = env.step(int(np.argmax(net.q(dy.inputVector(list(state))).npvalue())))
        total += reward
        if over:
            break
    return total


def reference_losses(dy, loss_kind="huber"):
    return train(dy, steps=30, sync=5, loss_kind=loss_kind)[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--loss", choices=["huber", "squared"], default="huber")
    args = ap.parse_args(argv)
    import compgraph.dynet as dy
    losses, net = train(dy, args.steps, args.batch, loss_kind=args.loss)
    k = min(20, len(losses))
    print(f"TD loss: first {k} updates {np.mean(losses[:k]):.4f}, last {k} {np.mean(losses[-k:]):.4f}; "
          f"greedy return {greedy_return(dy, net):.2f}")
    return losses


if __name__ == "__main__":
    main()
