"""First-order update rules of the lecture "Training Deep Neural Networks".

Every rule has the interface

    next_w, config = rule(w, dw, config=None)

- w: A numpy array of the current weights, any shape (D1, ..., Dk).
- dw: A numpy array of the loss's gradient with respect to w, same shape as w.
- config: A dictionary of hyper-parameters (learning rate, momentum, ...) and of
  the state the rule carries from one step to the next (velocity, moments, ...).
  Missing hyper-parameters are filled in with the defaults; the state is created
  on the first call. Pass the returned config to the next call.

Returns next_w of the same shape and dtype as w. Neither w nor dw is modified in
place; each state array in config is a new array after every step.
"""

import numpy as np


def sgd(w, dw, config=None):
    """
    Vanilla stochastic gradient descent.

        input: lr (learning_rate), w_0 (weights), dw (gradient at w)
        for t = 1, 2, ...:
            w_t = w_{t-1} - lr dw

    Inputs:
    - w: Weights, shape (D1, ..., Dk).
    - dw: Gradient of the loss with respect to w, shape (D1, ..., Dk).
    - config: Dictionary or None, with:
      - learning_rate: Scalar learning rate (default 1e-2).

    Returns a tuple of:
    - next_w: Updated weights, shape (D1, ..., Dk), dtype of w.
    - config: The same dictionary, defaults filled in.
    """
    raise NotImplementedError('sgd: fill in the default learning_rate, then step against the gradient')


def sgd_momentum(w, dw, config=None):
    """
    Stochastic gradient descent with momentum.

        input: lr (learning_rate), rho (momentum), w_0 (weights), dw (gradient at w)
        initialize: v_0 = 0 (velocity)
        for t = 1, 2, ...:
            v_t = rho v_{t-1} + dw
            w_t = w_{t-1} - lr v_t

    Inputs:
    - w: Weights, shape (D1, ..., Dk).
    - dw: Gradient of the loss with respect to w, shape (D1, ..., Dk).
    - config: Dictionary or None, with:
      - learning_rate: Scalar learning rate (default 1e-2).
      - momentum: Scalar rho in [0, 1) (default 0.9).
      - velocity: State v, shape (D1, ..., Dk); zeros when absent.

    Returns a tuple of:
    - next_w: Updated weights, shape (D1, ..., Dk), dtype of w.
    - config: The same dictionary, defaults filled in and velocity updated.
    """
    raise NotImplementedError('sgd_momentum: v = momentum * v + dw; w - learning_rate * v; store v as config["velocity"]')


def nesterov_momentum(w, dw, config=None):
    """
    Nesterov momentum, in the change of variables that evaluates the gradient at w.

        input: lr (learning_rate), rho (momentum), w_0 (weights), dw (gradient at w)
        initialize: v_0 = 0 (velocity)
        for t = 1, 2, ...:
            v_t = rho v_{t-1} - lr dw
            w_t = w_{t-1} - rho v_{t-1} + (1 + rho) v_t

    Inputs:
    - w: Weights, shape (D1, ..., Dk).
    - dw: Gradient of the loss with respect to w, shape (D1, ..., Dk).
    - config: Dictionary or None, with:
      - learning_rate: Scalar learning rate (default 1e-2).
      - momentum: Scalar rho in [0, 1) (default 0.9).
      - velocity: State v, shape (D1, ..., Dk); zeros when absent.

    Returns a tuple of:
    - next_w: Updated weights, shape (D1, ..., Dk), dtype of w.
    - config: The same dictionary, defaults filled in and velocity updated.
    """
    raise NotImplementedError('nesterov_momentum: keep the old velocity; update v; combine old and new v as in the docstring')


def adagrad(w, dw, config=None):
    """
    AdaGrad: per-coordinate step sizes from the sum of all squared gradients.

        input: lr (learning_rate), eps (epsilon), w_0 (weights), dw (gradient at w)
        initialize: g2_0 = 0 (grad_squared)
        for t = 1, 2, ...:
            g2_t = g2_{t-1} + dw^2
            w_t = w_{t-1} - lr dw / (sqrt(g2_t) + eps)

    Inputs:
    - w: Weights, shape (D1, ..., Dk).
    - dw: Gradient of the loss with respect to w, shape (D1, ..., Dk).
    - config: Dictionary or None, with:
      - learning_rate: Scalar learning rate (default 1e-2).
      - epsilon: Scalar added to the denominator (default 1e-7).
      - grad_squared: State g2, shape (D1, ..., Dk); zeros when absent.

    Returns a tuple of:
    - next_w: Updated weights, shape (D1, ..., Dk), dtype of w.
    - config: The same dictionary, defaults filled in and grad_squared updated.
    """
    raise NotImplementedError('adagrad: g2 = g2 + dw**2; w - learning_rate * dw / (sqrt(g2) + epsilon)')


def rmsprop(w, dw, config=None):
    """
    RMSProp: per-coordinate step sizes from a moving average of squared gradients.

        input: lr (learning_rate), d (decay_rate), eps (epsilon), w_0 (weights),
               dw (gradient at w)
        initialize: g2_0 = 0 (grad_squared)
        for t = 1, 2, ...:
            g2_t = d g2_{t-1} + (1 - d) dw^2
            w_t = w_{t-1} - lr dw / (sqrt(g2_t) + eps)

    Inputs:
    - w: Weights, shape (D1, ..., Dk).
    - dw: Gradient of the loss with respect to w, shape (D1, ..., Dk).
    - config: Dictionary or None, with:
      - learning_rate: Scalar learning rate (default 1e-2).
      - decay_rate: Scalar d in [0, 1), the moving average's decay (default 0.99).
      - epsilon: Scalar added to the denominator (default 1e-8).
      - grad_squared: State g2, shape (D1, ..., Dk); zeros when absent.

    Returns a tuple of:
    - next_w: Updated weights, shape (D1, ..., Dk), dtype of w.
    - config: The same dictionary, defaults filled in and grad_squared updated.
    """
    raise NotImplementedError('rmsprop: leaky average of dw**2 into grad_squared; step lr * dw / (sqrt(g2) + eps)')


def adam(w, dw, config=None):
    """
    Adam with bias correction, and optional L2 weight decay coupled to the gradient.

        input: lr (learning_rate), beta1, beta2, eps (epsilon), wd (weight_decay),
               w_0 (weights), dw (gradient at w)
        initialize: m_0 = 0 (first moment), v_0 = 0 (second moment), t = 0
        for each call:
            t = t + 1
            g = dw + wd w_{t-1}
            m_t = beta1 m_{t-1} + (1 - beta1) g
            v_t = beta2 v_{t-1} + (1 - beta2) g^2
            mhat_t = m_t / (1 - beta1^t)
            vhat_t = v_t / (1 - beta2^t)
            w_t = w_{t-1} - lr mhat_t / (sqrt(vhat_t) + eps)

    Inputs:
    - w: Weights, shape (D1, ..., Dk).
    - dw: Gradient of the loss with respect to w, shape (D1, ..., Dk).
    - config: Dictionary or None, with:
      - learning_rate: Scalar learning rate (default 1e-3).
      - beta1: Scalar decay of the first moment (default 0.9).
      - beta2: Scalar decay of the second moment (default 0.999).
      - epsilon: Scalar added to the denominator (default 1e-8).
      - weight_decay: Scalar wd of the L2 penalty wd/2 ||w||^2 (default 0.0).
      - m: State, first moment, shape (D1, ..., Dk); zeros when absent.
      - v: State, second moment, shape (D1, ..., Dk); zeros when absent.
      - t: State, integer number of steps taken (0 when absent).

    Returns a tuple of:
    - next_w: Updated weights, shape (D1, ..., Dk), dtype of w.
    - config: The same dictionary, defaults filled in and m, v, t updated.
    """
    raise NotImplementedError('adam: increment t BEFORE bias correction; g = dw + wd * w; moments, mhat, vhat, step')


def adamw(w, dw, config=None):
    """
    AdamW: Adam with decoupled weight decay (Algorithm 2 of Loshchilov and Hutter).

        input: lr (learning_rate), beta1, beta2, eps (epsilon), wd (weight_decay),
               eta (schedule_multiplier), w_0 (weights), dw (gradient at w)
        initialize: m_0 = 0 (first moment), v_0 = 0 (second moment), t = 0
        for each call:
            t = t + 1
            m_t = beta1 m_{t-1} + (1 - beta1) dw
            v_t = beta2 v_{t-1} + (1 - beta2) dw^2
            mhat_t = m_t / (1 - beta1^t)
            vhat_t = v_t / (1 - beta2^t)
            w_t = w_{t-1} - eta (lr mhat_t / (sqrt(vhat_t) + eps) + wd w_{t-1})

    The decay wd w is not scaled by lr; torch.optim.AdamW(lr=lr, weight_decay=wd / lr)
    takes the same steps when eta = 1.

    Inputs:
    - w: Weights, shape (D1, ..., Dk).
    - dw: Gradient of the loss with respect to w, shape (D1, ..., Dk).
    - config: Dictionary or None, with:
      - learning_rate: Scalar learning rate (default 1e-3).
      - beta1: Scalar decay of the first moment (default 0.9).
      - beta2: Scalar decay of the second moment (default 0.999).
      - epsilon: Scalar added to the denominator (default 1e-8).
      - weight_decay: Scalar wd, decoupled from the gradient (default 1e-2).
      - schedule_multiplier: Scalar eta, set by a learning-rate schedule (default 1.0).
      - m: State, first moment, shape (D1, ..., Dk); zeros when absent.
      - v: State, second moment, shape (D1, ..., Dk); zeros when absent.
      - t: State, integer number of steps taken (0 when absent).

    Returns a tuple of:
    - next_w: Updated weights, shape (D1, ..., Dk), dtype of w.
    - config: The same dictionary, defaults filled in and m, v, t updated.
    """
    raise NotImplementedError("adamw: Adam's moments on dw alone; w - eta * (lr * mhat / (sqrt(vhat) + eps) + wd w)")
