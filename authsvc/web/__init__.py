"""HTML blueprints: thin views over the services, WTForms for CSRF and rendering."""
