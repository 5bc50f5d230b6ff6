"""A word-level language model in the style of pytorch/examples' word_language_model (our own
program): Embedding, a 2-layer nn.LSTM over (seq, batch) input, a Linear decoder, log_softmax
and CrossEntropyLoss over the flattened outputs, truncated backprop through time with the
hidden state detached between batches, clip_grad_norm_ and SGD. Dropout is 0 (training) and
the evaluation runs in eval(); float32 throughout, losses within 1e-4 at every step."""
import numpy as np

from tests.programs.lockstep import lockstep

NTOKEN, EMSIZE, NHID, NLAYERS, BSZ, BPTT = 23, 12, 16, 2, 4, 6


def build(torch):
    nn = torch.nn
    F = torch.nn.functional

    class WordModel(nn.Module):
        def __init__(self, dropout=0.0):
            super().__init__()
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(NTOKEN, EMSIZE)
            self.rnn = nn.LSTM(EMSIZE, NHID, NLAYERS, dropout=dropout)
            self.decoder = nn.Linear(NHID, NTOKEN)

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            decoded = self.decoder(self.drop(output)).view(-1, NTOKEN)
            return F.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            return (weight.new_zeros(NLAYERS, bsz, NHID), weight.new_zeros(NLAYERS, bsz, NHID))

    return WordModel()


def corpus():
    """A token stream with structure to learn: runs that count up, restarting at random."""
    rng = np.random.default_rng(3)
    ids, t = [], 0
    while len(ids) < BSZ * (BPTT * 20 + 1):
        t = (t + 1) % NTOKEN if rng.random() < 0.8 else int(rng.integers(NTOKEN))
        ids.append(t)
    return np.array(ids, dtype=np.int64)


def batchify(torch, data, bsz):
    nbatch = data.size(0) // bsz
    data = data[:nbatch * bsz]
    return data.view(bsz, -1).t().contiguous()


def repackage_hidden(torch, h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(torch, v) for v in h)


def train(torch, model, steps):
    source = batchify(torch, torch.tensor(corpus()), BSZ)
    criterion = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=5.0)
    model.train()
    hidden = model.init_hidden(BSZ)
    losses = []
    for step in range(steps):
        i = step * BPTT
        seq_len = min(BPTT, len(source) - 1 - i)
        data, targets = source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)
        hidden = repackage_hidden(torch, hidden)
        model.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()
        losses.append(loss.item())
    return losses


def evaluate(torch, model):
    model.eval()
    source = batchify(torch, torch.tensor(corpus()[::-1].copy()), 2)
    with torch.no_grad():
        output, _ = model(source[:BPTT], model.init_hidden(2))
        return torch.nn.functional.nll_loss(output, source[1:BPTT + 1].view(-1)).item()


def test_lstm_language_model_trains_as_in_pytorch():
    import compgraph
    import torch
    _, _, reference, ours = lockstep(build, train, tol=1e-4)
    # then evaluation in eval() mode, where dropout layers of p > 0 pass values through
    reference.drop.p = ours.drop.p = 0.5
    reference.rnn.dropout = ours.rnn.dropout = 0.5
    assert abs(evaluate(torch, reference) - evaluate(compgraph, ours)) < 1e-4
