"""Server-rendered pages (Flask templates in `templates/`, no build step): plain HTML forms
that call the same use cases as the API."""
