"""What the faces show about runs and plans: roles and figures."""
