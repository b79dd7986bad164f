"""The ``sage`` command line. Modules here import torch only inside command bodies."""
