from wecom_emulator.cli import main

main()
