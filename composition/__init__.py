"""The composition root: builds the runtime from settings and wires handlers into the transport."""
