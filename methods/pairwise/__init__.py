"""Pairwise supervised deep hashing baselines of RAZH Table II and COMAE Table 1: "dpsh", "dsh", "hashnet".

* DPSH (Li, Wang, Kang, IJCAI 2016): pairwise likelihood on u_i^T u_j / 2 plus eta ||sgn(u) - u||^2 (`dpsh`);
* DSH (Liu, Wang, Shan, Chen, CVPR 2016): contrastive loss with margin 2k plus alpha || |b| - 1 ||_1 (`dsh`);
* HashNet (Cao, Long, Wang, Yu, ICCV 2017): class-balanced weighted likelihood on tanh(beta z), beta by
  continuation (`hashnet`).

All three train on the SEEN classes' labels only (``Requirements(supervised=True)``, no attributes), on the
backbone every deep baseline shares (`zshbench.train.backbones`: resnet10t at 32 px in the ``tiny`` profile,
ImageNet ResNet-101 at 224 in ``paper``) with a linear hash layer on top. README.md holds the fidelity table
(one verdict per equation), where the public implementations differ, and the measured budgets.
"""

from zshbench.methods.pairwise.dpsh import DPSHConfig, DPSHHasher
from zshbench.methods.pairwise.dsh import DSHConfig, DSHHasher
from zshbench.methods.pairwise.hashnet import HashNetConfig, HashNetHasher

__all__ = ["DPSHConfig", "DPSHHasher", "DSHConfig", "DSHHasher", "HashNetConfig", "HashNetHasher"]
