"""NetBuilder's Streamlit views. Never imports torch: every fact comes from ``builder``.

``state`` is the only writer of the design; ``actions`` are the callbacks (one undoable edit
each); ``widgets`` draws argument and initializer widgets from registry metadata; ``cache`` holds
every cached call; ``sidebar``, ``stack`` and ``summary`` are views; ``tabs`` has one module per
tab, and tabs never import each other.
"""
