from cove.cli.main import main

main()
