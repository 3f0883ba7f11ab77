"""python -m courtgraph.cli"""

from courtgraph.cli import main

main()
