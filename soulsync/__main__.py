from soulsync.app import main

raise SystemExit(main())
