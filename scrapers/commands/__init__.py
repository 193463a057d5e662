"""pde's Scrapy commands (COMMANDS_MODULE): ``crawl`` with an honest exit code."""
