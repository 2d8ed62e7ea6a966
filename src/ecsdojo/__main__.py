import sys

from ecsdojo.cli import main

sys.exit(main())
