"""Hand-written grading cases over the shipped notes: for each concept a correct answer (in my own words,
not copied from the note), a partly correct one (one idea of several) and a wrong one (on topic, but
wrong). Written before the thresholds in rag/interview/grading.py were looked at against them."""

CASES = [
    {
        "term": "Batch Normalization",
        "source": "ml-fundamentals.md",
        "correct": "Batch norm normalises the inputs to every layer using the mean and variance of the current "
        "mini-batch, so they have zero mean and unit variance. It reduces internal covariate shift and makes "
        "training faster and more stable.",
        "partial": "It is a layer that normalizes the inputs of a neural network layer.",
        "wrong": "Batch normalization means always training with the largest batch size that fits in memory.",
    },
    {
        "term": "Patience",
        "source": "ml-fundamentals.md",
        "correct": "Patience belongs to early stopping: it is how many epochs training waits for the "
        "validation loss to improve before it stops, which prevents overfitting. With patience 5, five epochs "
        "without improvement end training.",
        "partial": "It is a setting used with early stopping.",
        "wrong": "Patience is the number of GPUs you wait for in a cluster queue.",
    },
    {
        "term": "DROPOUT LAYER",
        "source": "ai-applications-summary.txt",
        "correct": "Dropout is a regularisation layer against overfitting: during training it randomly drops a "
        "subset of neurons, so neurons cannot rely on mistakes of earlier layers, which makes the model more "
        "robust and generalise better.",
        "partial": "A dropout layer is used to reduce overfitting.",
        "wrong": "A dropout layer removes the images that the model classified wrongly from the dataset.",
    },
    {
        "term": "K-Folds Cross Validation",
        "source": "ml-fundamentals.md",
        "correct": "You split the data into k folds, for example 5 folds of 200 of 1000 samples, and train and "
        "test k times, each time testing on a different fold and training on the rest. That gives a more "
        "reliable estimate of how the model performs.",
        "partial": "It is a way to evaluate a model's performance.",
        "wrong": "K-folds means folding the network's layers k times to make it smaller.",
    },
    {
        "term": "AUTOENCODER",
        "source": "ai-applications-summary.txt",
        "correct": "An autoencoder is an unsupervised neural network that compresses the input into a small "
        "encoding and then reconstructs the input from it, so it learns to reproduce its input. It is trained "
        "with mean squared error between input and output pixels.",
        "partial": "An autoencoder is a kind of neural network.",
        "wrong": "An autoencoder automatically writes the source code for a model.",
    },
    {
        "term": "Epsilon-Greedy-Policy",
        "source": "ai-applications-summary.txt",
        "correct": "The agent has to balance exploration and exploitation: a purely greedy agent always takes "
        "the best known action, stops exploring and can miss the best trajectory. Epsilon-greedy takes a "
        "random action with probability epsilon and the best known action otherwise.",
        "partial": "It has to do with exploring the state-action space.",
        "wrong": "Epsilon greedy is a learning rate schedule that shrinks the learning rate by epsilon each epoch.",
    },
    {
        "term": "BACKPROPAGATION",
        "source": "ai-applications-summary.txt",
        "correct": "Backpropagation computes the gradient of the loss with respect to every weight by "
        "propagating the error between prediction and target back through the network; the weights are then "
        "moved against the gradient, repeated until the error is minimal.",
        "partial": "Backpropagation is used to adjust the weights of a network.",
        "wrong": "Backpropagation is when you copy the trained model back to the training machine.",
    },
    {
        "term": "POOLING",
        "source": "ai-applications-summary.txt",
        "correct": "A pooling layer sits between conv layers; max pooling keeps the largest value of each "
        "window, average pooling the mean. It has no trainable parameters, loses detail but keeps important "
        "features, and shrinks the data, for example 4x with 2x2 pools, while the field of view grows.",
        "partial": "Max pooling keeps only the biggest value in each window.",
        "wrong": "Pooling means combining the GPUs of several machines into one training pool.",
    },
    {
        "term": "SOFTMAX FUNCTION",
        "source": "ai-applications-summary.txt",
        "correct": "Softmax turns the logits of the last layer into probabilities: each value is exponentiated "
        "and divided by the sum, so the output vector sums to one. It is differentiable, which gradient "
        "descent needs, and is often the last layer of a CNN classifier.",
        "partial": "It is often put after the last layer of a CNN.",
        "wrong": "Softmax is a loss function that softens the labels by adding noise.",
    },
    {
        "term": "ATTENTION",
        "source": "ai-applications-summary.txt",
        "correct": "Attention gives each word a different level of importance by computing soft weights over "
        "the tokens in the context window; it looks at all tokens of the input sequence, and each attention "
        "head has its own query, key and value weights, so different heads look for different patterns.",
        "partial": "Attention looks at all the tokens in the input.",
        "wrong": "Attention is a regularisation trick that makes the network ignore rare words.",
    },
    {
        "term": "TRANSFER LEARNING, FOUNDATION MODELS",
        "source": "ai-applications-summary.txt",
        "correct": "Transfer learning trains a complex model on one task, freezes part of it and reuses it for "
        "a related task, useful with few labels. A foundation model is a large model trained on huge amounts "
        "of data that can be adapted to many downstream tasks; in-context learning solves a task from examples "
        "in the prompt without changing parameters.",
        "partial": "Transfer learning reuses a model trained on one task for another task.",
        "wrong": "Transfer learning is moving the training data from one server to another.",
    },
    {
        "term": "Support Vector Machines (SVMs)",
        "source": "ml-fundamentals.md",
        "correct": "An SVM finds the hyperplane separating the classes with the largest margin, which helps "
        "generalisation; with the kernel trick it maps data into a higher-dimensional space for non-linear "
        "problems. It works well in high dimensions, needs scaled features and is harder to interpret with "
        "non-linear kernels.",
        "partial": "SVMs look for a hyperplane that separates the classes.",
        "wrong": "An SVM is a tree of yes/no questions that splits the data on one feature at a time.",
    },
]
