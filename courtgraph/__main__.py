"""python -m courtgraph"""

import gc

gc.disable()  # before the CLI's imports: see courtgraph.cli.app.start_up (main turns it on again)

from courtgraph.cli import main  # noqa: E402

main()
