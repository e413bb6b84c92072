import sys

from gureum.cli import main

sys.exit(main())
