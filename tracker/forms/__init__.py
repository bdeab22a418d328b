"""Flask-WTF forms, one module per area, with messages in the NHS voice."""
