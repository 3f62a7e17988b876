"""The published figures that aelab's results are measured against."""

# Squared error per image on the MNIST test set (sum over the 784 pixels in
# [0, 1], mean over the 10,000 images) for 30-D codes, from Hinton and
# Salakhutdinov, Science 313 (2006): PCA, and the RBM-pretrained
# 784-1000-500-250-30 autoencoder.
MNIST_TEST_ERRORS = {("pca", 30): 13.87, ("deep-pretrained", 30): 3.00}
