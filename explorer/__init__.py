"""GAN Explorer: train the classic GAN families and explore what they learned.

Importing this package touches no GPU, file or network.
"""

__version__ = "0.1.0"
