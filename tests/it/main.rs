mod admin;
