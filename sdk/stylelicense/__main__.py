from stylelicense.cli import app

app(prog_name="stylelicense")
