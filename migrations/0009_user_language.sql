-- The language a user reads emails in (a BCP 47 tag such as `de` or `pt-BR`); none: the
-- project's default texts.
ALTER TABLE users ADD COLUMN language TEXT;
