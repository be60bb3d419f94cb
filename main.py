"""Entry point: `python main.py` opens SoulSync."""
from soulsync.app import main

if __name__ == "__main__":
    raise SystemExit(main())
